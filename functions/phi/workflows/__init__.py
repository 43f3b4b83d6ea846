"""Task workflows: one LangGraph graph per task type, resumed by the Think step."""
