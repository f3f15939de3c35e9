"""Back-ends of the analysis tools (``tools/analysis_tools``, ``tools/misc``): speed and
memory benchmarks, model complexity, the ablation table, the listing of registered modules.

The top floor of the package: it may import every other catravs package, and none
imports it."""
