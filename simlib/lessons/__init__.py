"""What the lessons use: figures and KPI tables, the interactive panels, goals to check,
KPI helpers and queueing theory to compare the model with. Model logic stays in the
layers below; nothing here changes a result."""
