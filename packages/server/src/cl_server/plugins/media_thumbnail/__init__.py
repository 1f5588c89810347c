"""media_thumbnail: JPEG thumbnails of images and key-frame mosaics of videos."""
