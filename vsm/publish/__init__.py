"""What may be published: statistical secrecy (:mod:`vsm.publish.secrecy`) and the caisse's
payment list (:mod:`vsm.publish.payments`)."""
