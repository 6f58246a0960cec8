"""Find, fetch, verify and load the labs' datasets.

One module per job; their public names are re-exported here, so ``from labs_utils import datasets``
then ``datasets.load_census_adult()`` works:

- ``catalog``: the registry file (``datasets/registry.toml``) as typed entries; cache locations.
- ``fetching``: cache → mirror → official URL; ``fetch`` returns verified paths and a data source.
- ``verify``: hashes, first-use records (``<file>.source.json``), atomic installs.
- ``archives``: safe extraction of tar and zip archives.
- ``tabular``: the course-layout loaders (census, diabetes, breast cancer, traffic, taxi, covertype).
- ``jena``, ``wisdm``, ``cifar10``: the week-4 datasets, each with its own fallbacks.
- ``standins``: the labels of data that is not the full file, the banner, how to get the real one.
"""

from labs_utils.datasets import archives, catalog, cifar10, fetching, jena, standins, tabular, verify, wisdm
from labs_utils.datasets.archives import *  # noqa: F403
from labs_utils.datasets.catalog import *  # noqa: F403
from labs_utils.datasets.cifar10 import *  # noqa: F403
from labs_utils.datasets.fetching import *  # noqa: F403
from labs_utils.datasets.jena import *  # noqa: F403
from labs_utils.datasets.standins import *  # noqa: F403
from labs_utils.datasets.tabular import *  # noqa: F403
from labs_utils.datasets.verify import *  # noqa: F403
from labs_utils.datasets.wisdm import *  # noqa: F403

__all__ = [
    *archives.__all__,
    *catalog.__all__,
    *cifar10.__all__,
    *fetching.__all__,
    *jena.__all__,
    *standins.__all__,
    *tabular.__all__,
    *verify.__all__,
    *wisdm.__all__,
]
