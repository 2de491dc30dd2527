import CoresetCLI

Coreset.main()
