# run in the build context before both builds (then removed from it): what git cannot hold
mkdir -p dir/empty
chmod 0700 dir/sub
chmod 0640 files/b.txt
