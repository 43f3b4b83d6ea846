"""What an agent's workflows are, as data: the registry of workflow types, the JSON definition format and its
validation. Free of LangGraph and of the database, so the API and the services import it cheaply; the
`phi.workflows` package compiles and runs what is registered here."""
