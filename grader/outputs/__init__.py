"""Writers of results: console, JSON, JUnit, Gradescope, Markdown, the gradebook and the class page."""
