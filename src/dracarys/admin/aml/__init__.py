"""AML monitoring: rules per country as data, wallet movements judged as they arrive,
alerts, cases that hold withdrawals until a reviewer decides, and their export."""
