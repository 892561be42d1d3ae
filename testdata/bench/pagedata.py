"""The data both benchmark pages render (flask_page.py and django_page.py), so the two
frameworks do the same work: a title, a navigation bar and a table of products."""

TITLE = "Spring catalogue"

NAV = [
    ("/", "Home"),
    ("/catalogue", "Catalogue"),
    ("/offers", "Offers"),
    ("/about", "About us"),
]

PRODUCTS = [
    {"sku": "A-%03d" % i, "name": name, "price": price, "stock": stock}
    for i, (name, price, stock) in enumerate(
        [
            ("Garden chair", 49.90, 12),
            ("Folding table", 89.00, 3),
            ("Parasol <large>", 120.50, 0),
            ("Watering can", 14.25, 40),
            ("Hose, 25 m", 32.00, 7),
            ("Seed tray & lid", 6.75, 150),
            ("Pruning shears", 22.40, 18),
            ("Compost bin", 65.00, 0),
            ("Bird feeder", 18.90, 25),
            ("Solar lamp", 9.99, 64),
        ],
        start=1,
    )
]
