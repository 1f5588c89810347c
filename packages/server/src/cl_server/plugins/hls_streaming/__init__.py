"""hls_streaming: adaptive HLS renditions and a master playlist from one ffmpeg run."""
