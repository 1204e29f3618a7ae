"""What a course is on disk: its exercises, their metadata and the files that come with them."""
