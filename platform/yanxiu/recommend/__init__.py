"""Training-path recommendation (精准研训路径)."""

from yanxiu.recommend.plan import PathStep, plan_path

__all__ = ["PathStep", "plan_path"]
