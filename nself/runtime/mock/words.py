"""Word lists that nself owns, so that mock data never changes because a third-party
library changed its lists. Changing any list here changes generated data: bump
GENERATOR_VERSION in nself/runtime/mock/values.py when you do."""

from __future__ import annotations

FIRST_NAMES = (
    "Ada", "Alan", "Alice", "Amara", "Amir", "Ana", "Anders", "Aria", "Arjun", "Astrid",
    "Ben", "Bianca", "Boris", "Carla", "Carlos", "Chen", "Chloe", "Clara", "Dana", "Daniel",
    "David", "Diego", "Elena", "Eli", "Emil", "Emma", "Erik", "Eva", "Farah", "Felix",
    "Fiona", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jack", "Jana", "Jonas", "Julia",
    "Kai", "Kenji", "Lara", "Leo", "Lena", "Liam", "Lina", "Luca", "Maya", "Mei",
    "Mia", "Milan", "Nadia", "Nina", "Noah", "Nora", "Olga", "Omar", "Oscar", "Paula",
    "Pedro", "Priya", "Quinn", "Rafael", "Rosa", "Ruth", "Sam", "Sara", "Sofia", "Stefan",
    "Tara", "Theo", "Tomas", "Uma", "Vera", "Victor", "Wen", "Yara", "Yusuf", "Zoe",
)

LAST_NAMES = (
    "Abbott", "Adler", "Alvarez", "Andersen", "Bauer", "Becker", "Bianchi", "Brown", "Castro", "Chen",
    "Costa", "Cruz", "Dubois", "Eriksen", "Evans", "Fischer", "Fontaine", "Garcia", "Gomez", "Hansen",
    "Hoffmann", "Ito", "Jensen", "Johnson", "Kim", "Kowalski", "Larsen", "Lee", "Lopez", "Martin",
    "Meyer", "Moreau", "Muller", "Nakamura", "Nguyen", "Nielsen", "Novak", "Okafor", "Olsen", "Patel",
    "Perez", "Petrov", "Rossi", "Russo", "Santos", "Schmidt", "Silva", "Singh", "Smith", "Suzuki",
    "Tanaka", "Taylor", "Torres", "Wagner", "Walker", "Wang", "Weber", "Wilson", "Yamamoto", "Zhang",
)

WORDS = (
    "alpha", "amber", "anchor", "apple", "arch", "atlas", "autumn", "badge", "bay", "beacon",
    "birch", "blossom", "bridge", "brook", "canvas", "canyon", "cedar", "chord", "cloud", "coast",
    "comet", "coral", "crane", "crest", "dawn", "delta", "dune", "echo", "ember", "field",
    "fjord", "flint", "forest", "fountain", "frost", "garden", "glacier", "grove", "harbor", "hazel",
    "horizon", "island", "ivory", "jade", "jasmine", "juniper", "lagoon", "lantern", "leaf", "lilac",
    "linen", "maple", "marble", "meadow", "mesa", "mint", "moss", "mountain", "nectar", "north",
    "oak", "ocean", "olive", "orbit", "orchid", "pebble", "pine", "planet", "plume", "prairie",
    "quartz", "quill", "rain", "raven", "reef", "ridge", "river", "saffron", "sage", "shore",
    "signal", "silver", "sky", "slate", "solstice", "spark", "spruce", "star", "stone", "summit",
    "thistle", "thunder", "tide", "timber", "trail", "tulip", "valley", "velvet", "willow", "zephyr",
    "active", "bright", "calm", "clever", "daring", "eager", "gentle", "golden", "happy", "kind",
    "lively", "lucky", "merry", "modern", "noble", "quiet", "rapid", "steady", "swift", "warm",
    "builds", "carries", "draws", "finds", "gathers", "holds", "keeps", "makes", "moves", "opens",
    "reads", "shapes", "shows", "takes", "turns", "writes", "with", "under", "over", "beyond",
)

DOMAINS = ("example.com", "example.org", "example.net", "mail.test", "inbox.test", "post.test")

CITIES = (
    "Amsterdam", "Athens", "Austin", "Berlin", "Bogota", "Boston", "Cairo", "Cape Town", "Chicago", "Dublin",
    "Helsinki", "Istanbul", "Jakarta", "Kyoto", "Lagos", "Lima", "Lisbon", "London", "Madrid", "Melbourne",
    "Montreal", "Mumbai", "Nairobi", "Oslo", "Paris", "Prague", "Quito", "Rome", "Santiago", "Seoul",
    "Singapore", "Stockholm", "Sydney", "Taipei", "Tokyo", "Toronto", "Valencia", "Vienna", "Warsaw", "Zurich",
)

COUNTRIES = (
    "Argentina", "Australia", "Brazil", "Canada", "Chile", "Denmark", "Egypt", "Finland", "France", "Germany",
    "Ghana", "Greece", "India", "Indonesia", "Ireland", "Italy", "Japan", "Kenya", "Mexico", "Netherlands",
    "Nigeria", "Norway", "Peru", "Poland", "Portugal", "Singapore", "South Korea", "Spain", "Sweden", "Switzerland",
)

COMPANY_SUFFIXES = ("Labs", "Systems", "Works", "Group", "Studio", "Partners", "Collective", "Industries")

STREET_SUFFIXES = ("Street", "Avenue", "Road", "Lane", "Way", "Place", "Square", "Drive")
