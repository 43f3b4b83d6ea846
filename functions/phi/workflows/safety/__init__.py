"""The safety officer's workflows: the weekly incident summary (its Markdown and its sample data)."""
