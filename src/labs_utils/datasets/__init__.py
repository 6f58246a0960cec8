"""Find, fetch, verify and load the labs' datasets.

One module per job; the names below are re-exported, so ``from labs_utils import datasets`` then
``datasets.load_census_adult()`` works:

- ``registry``: the registry file (``datasets/registry.toml``) as typed entries; cache locations.
- ``fetching``: cache → mirror → official URL; ``fetch`` returns verified paths and a data source.
- ``verify``: hashes, first-use records (``<file>.source.json``), atomic installs.
- ``archives``: safe extraction of tar and zip archives.
- ``tabular``: the course-layout loaders (census, diabetes, breast cancer, traffic, taxi, covertype).
- ``jena``, ``wisdm``, ``cifar10``: the week-4 datasets, each with its own fallbacks.
"""

from labs_utils.datasets.archives import UnsafeArchiveError, extract_archive
from labs_utils.datasets.cifar10 import (
    CIFAR10_COURSE,
    CIFAR10_JPEG,
    CIFAR10_LABELS,
    CIFAR10_SHAPE,
    CIFAR10_SUBSET,
    CourseRecords,
    read_cifar10_labels,
    write_cifar10_course_tfrecord,
)
from labs_utils.datasets.fetching import (
    DataNotAvailableError,
    Fetched,
    fetch,
    fetch_best,
    fetch_file,
    fetch_many,
)
from labs_utils.datasets.jena import JENA_FULL, JENA_SUBSET, fetch_jena_climate
from labs_utils.datasets.registry import (
    DATA_SOURCES,
    DATASETS_DIR,
    REPO_ROOT,
    UNKNOWN,
    VARIANTS,
    DatasetEntry,
    FileEntry,
    cache_dir,
    cache_path,
    datasets_table,
    registry,
    registry_path,
)
from labs_utils.datasets.tabular import (
    BREAST_CANCER_COLUMNS,
    CENSUS_CATEGORICAL_FEATURES,
    CENSUS_COLUMNS,
    CENSUS_LABEL,
    CENSUS_NUMERIC_FEATURES,
    load_breast_cancer,
    load_census_adult,
    load_chicago_taxi,
    load_covertype,
    load_diabetes,
    load_metro_traffic,
    write_census_course_csv,
)
from labs_utils.datasets.verify import DataIntegrityError
from labs_utils.datasets.wisdm import WISDM_HZ, WISDM_RAW, fetch_wisdm_raw, write_synthetic_wisdm

__all__ = [
    "BREAST_CANCER_COLUMNS",
    "CENSUS_CATEGORICAL_FEATURES",
    "CENSUS_COLUMNS",
    "CENSUS_LABEL",
    "CENSUS_NUMERIC_FEATURES",
    "CIFAR10_COURSE",
    "CIFAR10_JPEG",
    "CIFAR10_LABELS",
    "CIFAR10_SHAPE",
    "CIFAR10_SUBSET",
    "DATASETS_DIR",
    "DATA_SOURCES",
    "JENA_FULL",
    "JENA_SUBSET",
    "REPO_ROOT",
    "UNKNOWN",
    "VARIANTS",
    "WISDM_HZ",
    "WISDM_RAW",
    "CourseRecords",
    "DataIntegrityError",
    "DataNotAvailableError",
    "DatasetEntry",
    "Fetched",
    "FileEntry",
    "UnsafeArchiveError",
    "cache_dir",
    "cache_path",
    "datasets_table",
    "extract_archive",
    "fetch",
    "fetch_best",
    "fetch_file",
    "fetch_jena_climate",
    "fetch_many",
    "fetch_wisdm_raw",
    "load_breast_cancer",
    "load_census_adult",
    "load_chicago_taxi",
    "load_covertype",
    "load_diabetes",
    "load_metro_traffic",
    "read_cifar10_labels",
    "registry",
    "registry_path",
    "write_census_course_csv",
    "write_cifar10_course_tfrecord",
    "write_synthetic_wisdm",
]
