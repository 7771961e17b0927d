"""ResLab: the helper package of a hands-on course on residual networks (He et al. 2015).

Import the modules you need (`from reslab import data, grads, plots`); importing
`reslab` itself is light, so `setup_notebook()` can quiet TensorFlow before it loads.
"""

from reslab.config import Profile, check_backend, get_profile, setup_notebook

check_backend()  # before Keras loads a backend that is missing: say what to install

__all__ = ["Profile", "get_profile", "setup_notebook"]
__version__ = "0.1.0"
