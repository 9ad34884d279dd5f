FILE: cannot open: No such file or directory
