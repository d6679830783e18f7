"""Collections: the bank's repayment file (CSV or xlsx), applied as payments under the rules of
make-payment, set-based: reader, job, CLI and upload."""
