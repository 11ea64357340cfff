"""Evaluation: how good the trained models are, on synthetic test scenes and real photos.

* ``testset.py``: the fixed synthetic test set (its seed, photos and sizes) and the
  two-robot scenes; every synthetic evaluation draws its scenes from here;
* ``localization.py``: joint pixel errors and depth errors of the localization network
  (paper Fig. 6, Table I);
* ``instances.py``: AP, counting and step purity of the instance model (Fig. 7);
* ``pose3d.py``: 3D joint errors of the whole pipeline (the Predictor), with and without
  instance masks;
* ``real.py``: DREAM-style keypoint metrics on calibrated real photos.

The plots of these results are in ``viz/``; the command line is ``robotpose eval``.
"""
