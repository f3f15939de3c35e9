"""The project's own unit tests (projects/gated_bicross_fusion/tests), run by the main suite."""
from projects.gated_bicross_fusion.tests.test_gated_bicross_fusion_module import *  # noqa: F401,F403
