"""The lender's pure rules: money and schedules (`amortization`), the credit policy
(`policy`) and the credit score (`scoring`).

Plain functions over Decimal, date and small Structs, with no database or HTTP: every module
may use them, and they import no module, so the rules are tested and read on their own.
"""
