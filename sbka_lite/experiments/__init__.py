"""Experiments over the method: papermill sweeps over any notebook (`sweep`), the training
ablation over seeds (`ablation`), and where their cells run (`executors`: in this process,
on Slurm through submitit, or as local submitit jobs).

Each module is imported on its own (``from sbka_lite.experiments.sweep import run_sweep``), so a
sweep does not pay for the ablation's imports.
"""
