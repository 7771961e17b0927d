"""`python -m reslab.experiments …`: see `reslab.experiments`."""

from reslab.experiments import main

main()
