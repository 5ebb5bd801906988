from cifarlab.cli.main import main

raise SystemExit(main())
