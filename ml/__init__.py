"""Machine learning on the marts: K-Means customer segmentation."""
