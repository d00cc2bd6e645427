"""Old home of the pipeline (before 0.2): its names resolve with a ``DeprecationWarning``."""

from ._deprecation import moved

__getattr__ = moved(
    "reimpact.analysis",
    {
        "run_study": "reimpact.pipeline",
        "StudyResults": "reimpact.results",
        "DesignSummary": "reimpact.results",
        "DEPENDENCIES": "reimpact.results.study",
    },
)
