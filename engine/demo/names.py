"""Name, street and city lists for the synthetic practice (all invented; no real people).

Background people draw surnames from `SURNAMES`. The snooping plants use `RARE_SURNAMES`, which
never appear in `SURNAMES`, so a "same surname" access is only ever a planted one.
"""

from __future__ import annotations

FIRST_NAMES: tuple[str, ...] = (
    "Aaliyah", "Aaron", "Abigail", "Adam", "Adrian", "Aiden", "Aisha", "Alan", "Alejandro", "Alex",
    "Alexis", "Alice", "Alicia", "Allison", "Amanda", "Amber", "Amelia", "Amir", "Amy", "Ana",
    "Andre", "Andrea", "Andrew", "Angela", "Anita", "Ann", "Anthony", "Antonio", "Ariana", "Arjun",
    "Ashley", "Audrey", "Ava", "Benjamin", "Bianca", "Brandon", "Brenda", "Brian", "Brianna", "Bryan",
    "Caleb", "Cameron", "Camila", "Carla", "Carlos", "Carmen", "Caroline", "Carter", "Catherine",
    "Charles", "Charlotte", "Chloe", "Christian", "Christina", "Christopher", "Claire", "Cody",
    "Connor", "Crystal", "Cynthia", "Daisy", "Daniel", "Danielle", "David", "Deborah", "Denise",
    "Derek", "Diana", "Diego", "Dominic", "Donna", "Dylan", "Edward", "Elena", "Eli", "Elijah",
    "Elizabeth", "Ella", "Emily", "Emma", "Eric", "Erica", "Erin", "Ethan", "Eva", "Evelyn",
    "Fatima", "Felix", "Fernando", "Fiona", "Gabriel", "Gabriela", "Grace", "Gregory", "Hailey",
    "Hannah", "Harper", "Hector", "Helen", "Henry", "Hiroshi", "Hunter", "Ian", "Isaac", "Isabel",
    "Isabella", "Ivan", "Jack", "Jacob", "Jada", "James", "Jamie", "Jasmine", "Jason", "Javier",
    "Jayden", "Jennifer", "Jeremy", "Jessica", "Joanna", "Joel", "John", "Jonathan", "Jordan",
    "Jose", "Joseph", "Joshua", "Joy", "Juan", "Julia", "Julian", "Justin", "Kaitlyn", "Karen",
    "Katherine", "Kayla", "Keith", "Kelly", "Kenji", "Kevin", "Kiara", "Kimberly", "Kyle", "Laura",
    "Lauren", "Layla", "Leah", "Leilani", "Leo", "Liam", "Lillian", "Lily", "Linda", "Logan",
    "Lucas", "Lucia", "Luis", "Luke", "Madison", "Malia", "Manuel", "Marcus", "Maria", "Mariana",
    "Mark", "Martin", "Mason", "Matthew", "Maya", "Megan", "Melissa", "Mia", "Michael", "Michelle",
    "Miguel", "Mila", "Monica", "Nadia", "Naomi", "Natalie", "Nathan", "Nicholas", "Nicole", "Noah",
    "Nora", "Olivia", "Omar", "Oscar", "Owen", "Pablo", "Patricia", "Patrick", "Paul", "Paula",
    "Peter", "Priya", "Rachel", "Rafael", "Raj", "Rebecca", "Ricardo", "Robert", "Rosa", "Ruby",
    "Ryan", "Samantha", "Samuel", "Sara", "Sarah", "Scott", "Sean", "Sebastian", "Sofia", "Sophia",
    "Stephanie", "Steven", "Susan", "Taylor", "Teresa", "Thomas", "Tiffany", "Timothy", "Tyler",
    "Valeria", "Vanessa", "Victor", "Victoria", "Vincent", "William", "Xavier", "Yasmin", "Yusuf",
    "Zachary", "Zoe",
)  # fmt: skip

SURNAMES: tuple[str, ...] = (
    "Adams", "Aguilar", "Ahmed", "Akana", "Alexander", "Ali", "Allen", "Alvarez", "Anderson",
    "Andrews", "Armstrong", "Bailey", "Baker", "Banks", "Barnes", "Bell", "Bennett", "Black",
    "Bowman", "Boyd", "Bradley", "Brooks", "Brown", "Bryant", "Burke", "Burns", "Butler", "Campbell",
    "Carter", "Castillo", "Castro", "Chan", "Chang", "Chavez", "Chen", "Cho", "Clark", "Cole",
    "Coleman", "Collins", "Cook", "Cooper", "Cox", "Crawford", "Cruz", "Cunningham", "Daniels",
    "Davis", "Delgado", "Diaz", "Dixon", "Dominguez", "Douglas", "Duncan", "Dunn", "Edwards",
    "Elliott", "Ellis", "Estrada", "Evans", "Ferguson", "Fernandez", "Fisher", "Flores", "Ford",
    "Foster", "Fox", "Freeman", "Fuentes", "Garcia", "Gardner", "Gibson", "Gomez", "Gonzales",
    "Gordon", "Graham", "Grant", "Gray", "Green", "Griffin", "Gupta", "Gutierrez", "Hall",
    "Hamilton", "Harris", "Harrison", "Hart", "Hayes", "Henderson", "Hernandez", "Herrera", "Hicks",
    "Hill", "Ho", "Hoffman", "Holmes", "Hughes", "Hunt", "Huynh", "Jackson", "James", "Jenkins",
    "Jimenez", "Johnson", "Jones", "Jordan", "Kahale", "Kaur", "Kelly", "Kennedy", "Khan", "Kim",
    "King", "Knight", "Lawrence", "Lee", "Lewis", "Li", "Lin", "Liu", "Long", "Lopez", "Lynch",
    "Marshall", "Martin", "Martinez", "Mason", "Medina", "Mendez", "Mendoza", "Meyer", "Miller",
    "Mills", "Mitchell", "Moore", "Morales", "Moreno", "Morgan", "Morris", "Murphy", "Murray",
    "Myers", "Nakamura", "Nelson", "Nguyen", "Nichols", "Ortiz", "Owens", "Palmer", "Park",
    "Parker", "Patel", "Patterson", "Pena", "Perez", "Perry", "Peters", "Phillips", "Pierce",
    "Porter", "Powell", "Price", "Ramirez", "Ramos", "Reed", "Reyes", "Reynolds", "Rice",
    "Richardson", "Rivera", "Roberts", "Robinson", "Rodriguez", "Rogers", "Romero", "Rose", "Ross",
    "Ruiz", "Russell", "Sanchez", "Sanders", "Santos", "Schmidt", "Scott", "Shah", "Shaw",
    "Silva", "Simmons", "Singh", "Smith", "Snyder", "Soto", "Spencer", "Stephens", "Stevens",
    "Stewart", "Stone", "Sullivan", "Tanaka", "Taylor", "Thomas", "Thompson", "Torres", "Tran",
    "Tucker", "Turner", "Vargas", "Vasquez", "Wagner", "Walker", "Wallace", "Wang", "Ward",
    "Warren", "Washington", "Watanabe", "Watson", "Weaver", "Webb", "Wells", "West", "White",
    "Williams", "Wilson", "Wong", "Wood", "Woods", "Wright", "Wu", "Yamamoto", "Yang", "Young",
    "Zhang",
)  # fmt: skip

# Surnames reserved for planted cases; none of them is in SURNAMES.
RARE_SURNAMES: tuple[str, ...] = (
    "Okonkwo", "Vaillancourt", "Przybylski", "Quennell", "Abernethy-Lowe", "Zeldovich",
    "Ishikawa-Brandt", "Thorvaldsen", "Mbeki-Hart", "Castellanos-Reyna", "Oyelaran", "Drozdova",
)  # fmt: skip

STREETS: tuple[str, ...] = (
    "Maple Ave", "Oak St", "Cedar Ln", "Pine St", "Elm St", "Washington Blvd", "Lake Dr",
    "Hillcrest Rd", "Park Pl", "Sunset Blvd", "River Rd", "Willow Way", "Highland Ave",
    "Meadow Ln", "Forest Dr", "Lincoln St", "Jefferson Ave", "Madison St", "Franklin Rd",
    "Spring St", "Church St", "Center St", "Valley View Dr", "Ridge Rd", "Chestnut St",
    "Walnut St", "Harbor Dr", "Bay St", "Mission St", "Grand Ave",
)  # fmt: skip

# City, state, ZIP prefix used for home addresses, keyed by state.
CITIES: dict[str, tuple[tuple[str, str], ...]] = {
    "NY": (("New York", "100"), ("Brooklyn", "112"), ("Queens", "113"), ("Bronx", "104")),
    "IL": (("Chicago", "606"), ("Evanston", "602"), ("Oak Park", "603")),
    "CO": (("Denver", "802"), ("Aurora", "800"), ("Lakewood", "804")),
    "CA": (("San Diego", "921"), ("Chula Vista", "919"), ("La Mesa", "919")),
    "HI": (("Honolulu", "968"), ("Kailua", "967"), ("Pearl City", "967")),
    "TX": (("Austin", "787"), ("Houston", "770"), ("Dallas", "752")),
    "FL": (("Miami", "331"), ("Tampa", "336"), ("Orlando", "328")),
    "WA": (("Seattle", "981"), ("Spokane", "992"), ("Tacoma", "984")),
}

TRAINERS: tuple[str, ...] = (
    "K. Alvarez, RN (Employee Health)", "M. Chen, CHPC (Privacy Office)", "LMS module (SecureLearn)",
    "D. Okafor, CSP (Safety)", "J. Reyes, MPH (Infection Prevention)", "Fire Marshal Services LLC",
)  # fmt: skip
