import os

# Tests never touch the network: timm/huggingface must use what is installed.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


# Tests that read the executed smoke series run last. Under pytest-xdist (make test: two workers, one test file at a
# time) their worker would otherwise sit waiting for the series lock (tests/test_notebooks.py) while the other worker
# executes the notebooks; at the end of the order the notebooks are done by the time they start.
READ_THE_SERIES = ("test_site.py", "test_grading.py")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.path.name in READ_THE_SERIES)  # stable: the order is otherwise unchanged
