"""`airpicture bench`: measured figures and ratios against peers on the same input."""
