#!/usr/bin/env python3
"""np.save(OUT, np.load(IN)): what numpy itself writes for the same array."""
import sys

import numpy as np

np.save(sys.argv[2], np.load(sys.argv[1]))
