"""Vocabulary of the demo world: names, companies, titles, content. Pure data."""

FIRST_NAMES = (  # noqa: SIM905 - a long word list reads best as one string
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony Sandra Mark Ashley Steven Emily Paul "
    "Michelle Andrew Amanda Joshua Melissa Kevin Rebecca Brian Laura Emma Olivia Liam Noah Sophie Lukas Hannah "
    "Jonas Lea Felix Clara Louis Camille Hugo Chloe Lucas Ines Mateo Lucia Pablo Sofia Diego Valentina Arjun "
    "Priya Rahul Ananya Vikram Kavya Wei Mei Hiroshi Yuki Kenji Aiko Min-jun Ji-woo Oluwaseun Chiamaka Kwame "
    "Amara Lars Ingrid Erik Astrid Sven Freya Mateus Beatriz Rafael Larissa Tomasz Agnieszka Piotr Zofia Ahmed "
    "Fatima Omar Layla Daniela Marco Giulia Luca Francesca Noor Tariq Elif Emre Dmitri Anya Niamh Ciaran"
).split()

LAST_NAMES = (  # noqa: SIM905 - a long word list reads best as one string
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
    "Muller Schmidt Schneider Fischer Weber Meyer Wagner Becker Moreau Dubois Laurent Bernard Lefebvre Rossi "
    "Russo Ferrari Esposito Bianchi Romano Silva Santos Oliveira Costa Pereira Patel Sharma Gupta Singh Kumar "
    "Iyer Reddy Chen Wang Li Zhang Liu Tanaka Suzuki Sato Takahashi Kim Park Choi Okafor Adeyemi Mensah Nkosi "
    "Johansson Andersson Nilsson Larsen Hansen Jensen Kowalski Nowak Wisniewski Novak Horvat Yilmaz Kaya Haddad "
    "Khan Rahman Murphy Kelly OBrien Byrne Walsh Petrov Ivanova Volkov Jansen DeVries Bakker Visser"
).split()

COMPANY_PREFIXES = (  # noqa: SIM905 - a long word list reads best as one string
    "Northwind Bluepeak Brightline Cobalt Corvid Crescent Driftwood Ember Evergreen Fathom Fieldstone Granite "
    "Harbor Helix Horizon Ironclad Juniper Keystone Kestrel Lantern Lighthouse Lumen Maple Meridian Monarch "
    "Nimbus Oakridge Orbit Osprey Paragon Pinnacle Polaris Quarry Quartz Redwood Ridgeline Riverbend Sable "
    "Saffron Sequoia Silverline Skyward Solstice Sparrow Starling Summit Tandem Tidewater Timber Trailhead "
    "Vantage Vector Verdant Waypoint Willow Zenith Alder Atlas Beacon Cascade"
).split()

# Suffixes by industry, so names read like the business they are in.
INDUSTRY_SUFFIXES = {
    "Software": ["Labs", "Software", "Systems", "Cloud", "Technologies", "Data", "AI", "Digital"],
    "Fintech": ["Pay", "Capital", "Financial", "Ledger", "Money", "Lending", "Wealth", "Bank"],
    "Healthcare": ["Health", "Medical", "Care", "Clinics", "Bio", "Therapeutics", "Diagnostics", "Pharma"],
    "Manufacturing": ["Industries", "Manufacturing", "Components", "Machines", "Materials", "Works", "Fabrication"],
    "Retail": ["Goods", "Outfitters", "Market", "Brands", "Supply", "Stores", "Commerce", "Home"],
    "Logistics": ["Logistics", "Freight", "Shipping", "Transport", "Fleet", "Cargo", "Delivery", "Routes"],
    "Education": ["Learning", "Academy", "Education", "Schools", "Tutoring", "EdTech", "Campus"],
    "Media": ["Media", "Studios", "Publishing", "Broadcast", "Entertainment", "Press"],
    "Telecommunications": ["Telecom", "Networks", "Wireless", "Connect", "Fiber", "Mobile"],
    "Insurance": ["Insurance", "Assurance", "Underwriters", "Mutual", "Risk", "Cover"],
}

# (industry, weight, fit): fit is how well the industry matches the product's
# ideal customer profile; it nudges hidden intent, it is never sent as is.
INDUSTRIES = (
    ("Software", 24, 1.0),
    ("Fintech", 14, 0.9),
    ("Healthcare", 10, 0.6),
    ("Manufacturing", 10, 0.4),
    ("Retail", 11, 0.6),
    ("Logistics", 8, 0.6),
    ("Education", 6, 0.2),
    ("Media", 6, 0.5),
    ("Telecommunications", 5, 0.6),
    ("Insurance", 6, 0.7),
)

# (country, region, weight, top-level domain, phone prefix)
COUNTRIES = (
    ("United States", "North America", 38, "com", "+1"),
    ("Canada", "North America", 5, "ca", "+1"),
    ("United Kingdom", "EMEA", 11, "co.uk", "+44"),
    ("Germany", "EMEA", 8, "de", "+49"),
    ("France", "EMEA", 6, "fr", "+33"),
    ("Netherlands", "EMEA", 4, "nl", "+31"),
    ("Sweden", "EMEA", 3, "se", "+46"),
    ("Spain", "EMEA", 3, "es", "+34"),
    ("India", "APAC", 6, "in", "+91"),
    ("Australia", "APAC", 5, "com.au", "+61"),
    ("Singapore", "APAC", 3, "sg", "+65"),
    ("Japan", "APAC", 3, "jp", "+81"),
    ("Brazil", "LATAM", 3, "com.br", "+55"),
    ("Mexico", "LATAM", 2, "mx", "+52"),
)

# (segment, weight, min employees, max employees)
SIZE_BANDS = (
    ("smb", 50, 5, 99),
    ("mid_market", 35, 100, 999),
    ("enterprise", 15, 1000, 60000),
)

# (title, department, seniority, weight, buyer): buyer is how much this person
# can push a purchase (budget or strong influence), 0..1.
TITLES = (
    ("Chief Data Officer", "Data", "C-Level", 1, 1.0),
    ("CTO", "Engineering", "C-Level", 2, 0.9),
    ("VP Data", "Data", "VP", 3, 1.0),
    ("VP Engineering", "Engineering", "VP", 3, 0.8),
    ("Head of Analytics", "Data", "Director", 5, 0.9),
    ("Director of Data Engineering", "Engineering", "Director", 4, 0.9),
    ("Head of BI", "Data", "Director", 3, 0.8),
    ("Data Engineering Manager", "Engineering", "Manager", 5, 0.7),
    ("Analytics Manager", "Data", "Manager", 5, 0.6),
    ("Senior Data Engineer", "Engineering", "Individual Contributor", 9, 0.5),
    ("Data Engineer", "Engineering", "Individual Contributor", 12, 0.4),
    ("Analytics Engineer", "Data", "Individual Contributor", 8, 0.4),
    ("Data Analyst", "Data", "Individual Contributor", 10, 0.3),
    ("Data Scientist", "Data", "Individual Contributor", 6, 0.3),
    ("Software Engineer", "Engineering", "Individual Contributor", 7, 0.2),
    ("Product Manager", "Product", "Manager", 4, 0.3),
    ("Marketing Manager", "Marketing", "Manager", 4, 0.1),
    ("Marketing Coordinator", "Marketing", "Individual Contributor", 2, 0.05),
    ("Operations Manager", "Operations", "Manager", 3, 0.2),
    ("Finance Director", "Finance", "Director", 2, 0.3),
    ("Recruiter", "Human Resources", "Individual Contributor", 2, 0.0),
    ("Intern", "Engineering", "Intern", 2, 0.0),
)

UNIVERSITIES = (
    ("stanford.edu", "United States"),
    ("mit.edu", "United States"),
    ("berkeley.edu", "United States"),
    ("umich.edu", "United States"),
    ("utexas.edu", "United States"),
    ("nyu.edu", "United States"),
    ("ox.ac.uk", "United Kingdom"),
    ("ucl.ac.uk", "United Kingdom"),
    ("ed.ac.uk", "United Kingdom"),
    ("unimelb.edu.au", "Australia"),
    ("iitb.ac.in", "India"),
    ("uct.ac.za", "South Africa"),
)

FREE_MAIL = ("gmail.com", "gmail.com", "gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "proton.me")
STUDENT_TITLES = ("Student", "Graduate Student", "PhD Candidate", "Teaching Assistant")
HOBBYIST_TITLES = ("Freelance Developer", "Consultant", "Founder", "Student", "")

# (name, type): the Campaign types of leads.models.CampaignType.
CAMPAIGNS = (
    ("2025-q3-data-stack-webinar", "webinar"),
    ("2025-q4-pipeline-observability-webinar", "webinar"),
    ("state-of-data-engineering-report", "content"),
    ("etl-migration-checklist", "content"),
    ("google-ads-etl-tool", "paid"),
    ("linkedin-data-leaders", "paid"),
    ("enterprise-abm-fintech", "abm"),
    ("data-council-booth", "event"),
    ("monthly-newsletter", "email"),
    ("trial-nurture-sequence", "email"),
)

ASSETS = (
    ("whitepaper", "Modern Data Stack Architecture"),
    ("whitepaper", "The Cost of Broken Pipelines"),
    ("ebook", "The Data Engineer's Handbook"),
    ("ebook", "From Spreadsheets to Warehouses"),
    ("checklist", "ETL Migration Checklist"),
    ("checklist", "Data Quality Checklist"),
    ("case_study", "How Northbank Cut Reporting Time by 80%"),
    ("case_study", "Scaling Analytics at a Global Retailer"),
)

WEBINARS = (
    "Building Reliable Pipelines in 2025",
    "Data Contracts in Practice",
    "Pipeline Observability 101",
    "From Batch to Streaming",
)

DOCS_PAGES = (
    "/docs/getting-started",
    "/docs/connectors/postgres",
    "/docs/connectors/snowflake",
    "/docs/connectors/salesforce",
    "/docs/jobs/scheduling",
    "/docs/api/reference",
    "/docs/security",
)

BLOG_PAGES = (
    "/blog/what-is-reverse-etl",
    "/blog/dbt-vs-stored-procedures",
    "/blog/data-team-hiring-guide",
    "/blog/warehouse-cost-tips",
)

CONNECTORS = ("postgres", "mysql", "snowflake", "bigquery", "salesforce", "hubspot", "stripe", "s3", "kafka")

USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
)
