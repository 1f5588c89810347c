"""image_conversion: convert an image to png, jpg, webp, gif, bmp or tiff with Pillow."""
