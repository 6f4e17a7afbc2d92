from hailong.cli import main

raise SystemExit(main())
