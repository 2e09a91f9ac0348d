# SPDX-License-Identifier: CECILL-C
# Benchmarks (placeholder until the suite lands).
