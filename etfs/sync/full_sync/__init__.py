"""The full sync: calendar, both lists, both price syncs and the corporate actions as one
parent run with a child run per step; the daily update after the close does the same for the
calendar and the two after-close price passes."""
