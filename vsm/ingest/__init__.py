"""Inputs, validated before anything is computed: every reader checks the same declared
shape (params/schemas/, read by schema.py), with French errors naming file, row and column.

- schema.py: schema names, columns, the count columns, the one spelling rule of each kind of value;
- tables.py: the files of an input, their digests, a CSV's header and records, a Parquet file's columns;
- extracts.py: the two extracts (DMP feed traces, patientèle) exposed to DuckDB and validated;
- inputs.py: the small tables (counts, paid amounts) read into pandas and validated.

Nothing is imported here: the forfait reads schema.COUNT_COLUMNS without loading pandas or DuckDB.
"""
