"""The operations manager's workflows: the shift handover (its Markdown and its sample data)."""
