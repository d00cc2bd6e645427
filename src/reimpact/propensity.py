"""Old import path (before 0.2) of names now in reimpact.design.propensity, reimpact.design.covariates,
reimpact.diagnostics.overlap: they resolve with a ``DeprecationWarning``."""

from ._deprecation import moved

__getattr__ = moved(
    "reimpact.propensity",
    {
        "CovariateDesign": "reimpact.design.covariates",
        "OTHER_LEVEL": "reimpact.design.covariates",
        "PropensityKind": "reimpact.design.propensity",
        "PropensityModel": "reimpact.design.propensity",
        "PropensityScores": "reimpact.design.propensity",
        "ScoreBounds": "reimpact.design.propensity",
        "SeparatedLevel": "reimpact.design.covariates",
        "bound_scores": "reimpact.design.propensity",
        "bounding_warning": "reimpact.design.propensity",
        "check_overlap": "reimpact.diagnostics.overlap",
        "covariate_design": "reimpact.design.covariates",
        "cross_fitted_scores": "reimpact.design.propensity",
        "estimate_propensity": "reimpact.design.propensity",
        "expit": "reimpact.design.propensity",
        "fit_logistic": "reimpact.design.propensity",
        "merge_rare_levels": "reimpact.design.covariates",
        "poor_overlap": "reimpact.diagnostics.overlap",
        "separated_levels": "reimpact.design.covariates",
        "separation_error": "reimpact.design.covariates",
        "stratified_folds": "reimpact.design.propensity",
    },
)
