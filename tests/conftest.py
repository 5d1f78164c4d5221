import os

# Tests never touch the network: timm/huggingface must use what is installed.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
