"""Old import path (before 0.2) of names now in reimpact.diagnostics.balance: they resolve with a
``DeprecationWarning``."""

from ._deprecation import moved

__getattr__ = moved(
    "reimpact.balance",
    {
        "BalanceTable": "reimpact.diagnostics.balance",
        "SAMPLES": "reimpact.diagnostics.balance",
        "SMD_THRESHOLD": "reimpact.diagnostics.balance",
        "VARIANCE_RATIO_BOUNDS": "reimpact.diagnostics.balance",
        "balance_statistics": "reimpact.diagnostics.balance",
        "balance_table": "reimpact.diagnostics.balance",
        "covariate_columns": "reimpact.diagnostics.balance",
        "ecdf_differences": "reimpact.diagnostics.ecdf",
        "smd_scale": "reimpact.diagnostics.balance",
        "weighted_mean": "reimpact.diagnostics.balance",
        "weighted_variance": "reimpact.diagnostics.balance",
    },
)
