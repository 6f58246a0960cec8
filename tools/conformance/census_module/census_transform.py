"""The census lab's preprocessing_fn (the notebook writes the same function with %%writefile)."""

import census_constants
import tensorflow_transform as tft


def preprocessing_fn(inputs):
    """Scale numbers to [0, 1], bucketize age, map strings and the label to vocabulary ids."""
    outputs = {}
    for key in census_constants.NUMERIC_FEATURE_KEYS:
        outputs[census_constants.transformed_name(key)] = tft.scale_to_0_1(inputs[key])
    for key in census_constants.BUCKET_FEATURE_KEYS:
        outputs[census_constants.transformed_name(key)] = tft.bucketize(
            inputs[key], census_constants.FEATURE_BUCKET_COUNT[key]
        )
    # vocab_filename names each vocabulary file, so it can be looked up by feature later.
    for key in census_constants.CATEGORICAL_FEATURE_KEYS + [census_constants.LABEL_KEY]:
        outputs[census_constants.transformed_name(key)] = tft.compute_and_apply_vocabulary(
            inputs[key], vocab_filename=key
        )
    return outputs
