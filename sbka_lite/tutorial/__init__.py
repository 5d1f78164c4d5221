"""The tutorial's plumbing, kept apart from the method: notebook parameters that fail loudly
(`params`), what a notebook records (`record`), the runs the notebooks share (`series`) and the
papermill runner behind ``make demo`` (`notebooks`), the exercises' checks (`exercises`), the
student edition behind ``make student`` (`student`) and the website behind ``make site`` (`site`). Nothing in the method's modules imports this."""
