"""Simulations: what a rule change would cost, who gains and who loses.

A *scenario* (params/scenarios/*.yml) is a rule-set variant — ``base:`` plus the values that
change, validated like any rule set (vsm/rules.py) — with a ``scenario:`` block (label,
rationale). Every value it changes must carry its own source (for a scenario, « hypothèse de
simulation » quoting the rationale): a changed value that kept its base's source is refused.

A *sweep* varies one parameter path of the base rule set (``tiers.levels.0.min_share``,
``ponderation.reference_patients``…) over exact values written as text (``0.40:0.60:0.01``
or ``0.4,0.45,0.5``: Fractions from the text, never float steps); each value is a rule set
validated by the rules model, so an impossible value gets the same French error as a bad
rule-set file.

Computation: the traces are aggregated once per distinct *counting configuration*
(population, type codes, statuses, actions, structured format codes, structured rule, the
periods' dates) — variants that change only tiers, amounts, majoration or weighting reuse
the same counts — by the pipeline's own stages (:func:`vsm.pipeline.open_inputs`,
:func:`vsm.aggregate.aggregate_periods`); each rule set is then computed by the pure forfait
(:func:`vsm.forfait.compute_columns`), a complement period against the same rule set's own
earlier period. Money stays in integer cents; what a period pays is the complement for a
complement period, the amount otherwise.

Outputs (written to a staging folder, then put in place; a folder vsm did not write is
never replaced): per scenario and period, one row per professional with the baseline
payment, the scenario payment and the difference (Parquet and CSV); a summary per scenario
× period × region and France entière (JSON and CSV); the sweep table; the manifest.
The files are for machines and are not published: the report (vsm/report/simulation.py)
applies statistical secrecy.

The stages, each importing only the ones before it: scenario (loading, what changes) → sweep
→ engine (recomputing rule sets) → comparison (costs, gains and losses) → run (a simulation)
→ files (writing and reading a simulation folder).
"""
