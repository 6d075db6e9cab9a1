"""The frozen-feature cache both tasks share (`dataset.feature_cache`): encode each item's pixels once with a frozen
network, store the features on disk, and train on them.

    keys.py      what a namespace and an entry are keyed by (and the weights hash)
    store.py     FeatureStore: one namespace folder of `.npy` entries, read and written atomically
    modes.py     off | auto | write | read
    source.py    what a task supplies: its splits (pixel datasets) and its encoder
    fill.py      computing the missing entries (this rank's share), or checking them in read mode
    dataset.py   CachedFeatureDataset: the cached features served as a dataset
    callback.py  FeatureCaching: the Lightning callback that fills, waits at a barrier and hands the datamodule
                 its cached datasets (`datamodule.use_cached(split, dataset)`)
"""
