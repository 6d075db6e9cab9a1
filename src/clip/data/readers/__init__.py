"""One reader per dataset format (ucf101, hmdb51, kinetics400, list); `src.clip.data.index.read_index` picks one."""
