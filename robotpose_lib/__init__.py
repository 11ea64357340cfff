"""robotpose_lib: the library behind the robotpose book.

A reproduction of Heindl et al. (2019), "3D Robot Pose Estimation from 2D Images":
synthetic data, joint localization, recurrent instance segmentation, decoding to 3D.
"""
__version__ = "0.1.0"
