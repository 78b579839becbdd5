"""Modified flows of full-batch and finite-sum methods (where the SME went next).

Modules, one concept each:

* :mod:`~smecore.flows.problems` -- small finite sums with exact gradients and Hessians;
* :mod:`~smecore.flows.modified` -- GD and the modified flow of f + (eta/4)``|grad f|^2``;
* :mod:`~smecore.flows.reshuffling` -- random reshuffling's mean and its modified loss;
* :mod:`~smecore.flows.balance` -- L(u, w) = (u w - y)^2 / 2, its balance law and symmetries;
* :mod:`~smecore.flows.entropy` -- entropy production of Gaussian-noise SGD on a quadratic;
* :mod:`~smecore.flows.hnag` -- the HNAG flow, full-batch Adam, what Adam-HNAG determines.
"""

# Importing the modules registers their mutants (smecore.mutants) with the package.
from . import balance, entropy, hnag, modified, problems, reshuffling  # noqa: E402,F401
