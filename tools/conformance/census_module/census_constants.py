"""The census lab's feature lists (the notebook writes the same file with %%writefile)."""

# Features with string data types that will be converted to indices
CATEGORICAL_FEATURE_KEYS = [
    "education", "marital-status", "occupation", "race", "relationship", "workclass", "sex", "native-country",
]  # fmt: skip
# Numerical features that are marked as continuous
NUMERIC_FEATURE_KEYS = ["fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
# Feature that can be grouped into buckets
BUCKET_FEATURE_KEYS = ["age"]
# Number of buckets used by tf.transform for encoding each bucket feature
FEATURE_BUCKET_COUNT = {"age": 4}
# Feature that the model will predict
LABEL_KEY = "label"


def transformed_name(key):
    """Name a transformed feature."""
    return key + "_xf"
