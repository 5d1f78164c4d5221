"""The tutorial's plumbing, kept apart from the method: notebook parameters that fail loudly
(`params`), what a notebook records (`record`), the runs the notebooks share (`series`) and the
papermill runner behind ``make demo`` (`notebooks`). Nothing in the method's modules imports this."""
