"""hls_streaming: adaptive HLS (several H.264 renditions and a master playlist) in one ffmpeg run."""
